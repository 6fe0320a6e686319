"""One module per section of the page: each turns gathered data into views, sentences and figures."""
