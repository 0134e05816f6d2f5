"""REST API v1 for ERP integration: bearer tokens, OpenAPI generated from the code, problem+json errors."""
