"""One module per section of the page: each turns gathered data into views and sentences, and
asks for its figures as :class:`~harness.report.data.plot.Plot` requests, drawn by
:mod:`harness.report.render` (a section never draws)."""
