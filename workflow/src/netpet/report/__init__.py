"""The paper's tables, and how the report prints numbers and names.

- :mod:`netpet.report.tables`: Tables 1-4 and S1 from the patient and statistics tables;
- :mod:`netpet.report.render`: the :class:`~netpet.report.render.Table` container and its
  TSV, HTML, Markdown and LaTeX files;
- :mod:`netpet.report.format`: numbers, p-values, hazard ratios, notes (tables and figures);
- :mod:`netpet.report.labels`: printed names of parameters, the endpoint, the adjusters and the
  SUV normalisation, derived from the column names and the config.
"""
