"""Lesions over time: registration of follow-up scans to the baseline, lesion tracks, response
categories and response heterogeneity (STUDY.md sections 2 and 3.6)."""
