"""Paper tables and their formatting for the report."""
