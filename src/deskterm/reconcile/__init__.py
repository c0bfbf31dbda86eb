"""FBA reconciliation: find reimbursement claims in the store before their windows close."""
