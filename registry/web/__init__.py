"""HTML pages for practice staff (DESIGN §7)."""
