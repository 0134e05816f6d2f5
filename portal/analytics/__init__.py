"""Spend (buyers) and sales (suppliers) dashboards: SQL aggregates drawn as server-side SVG charts."""
