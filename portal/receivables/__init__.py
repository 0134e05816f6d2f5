"""The supplier's receivables: aging of open invoices and dunning (levels, letters, late-payment interest)."""
