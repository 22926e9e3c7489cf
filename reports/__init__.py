"""WeasyPrint templates and rendering: nothing else renders PDFs (DESIGN §8)."""
