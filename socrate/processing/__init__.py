"""The worker side of a document: the run itself (pipeline), which files we accept (filetypes), text
extraction (extract: formats, office, ebooks; scans and ocr for pictures) under CPU budgets (budget), and
the lease that proves a run is alive (leases)."""
