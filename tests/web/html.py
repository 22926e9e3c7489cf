"""A small reader of the pages' HTML for tests (standard library only)."""

from __future__ import annotations

from html.parser import HTMLParser


class Page(HTMLParser):
    """The few things a test reads from a page: text by element id, labels, inputs, title."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.title = ""
        self.labels: dict[str, str] = {}
        self.inputs: list[dict[str, str]] = []
        self.text_by_id: dict[str, str] = {}
        self.scripts: list[str] = []
        self._open: list[tuple[str, str | None, str | None]] = []  # tag, id, label-for

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {k: v or "" for k, v in attrs}
        if tag in {"input", "meta", "br", "link"}:
            if tag == "input":
                self.inputs.append(values)
            return
        self._open.append((tag, values.get("id"), values.get("for") if tag == "label" else None))
        if values.get("id"):
            self.text_by_id.setdefault(values["id"], "")

    def handle_endtag(self, tag: str) -> None:
        while self._open:
            if self._open.pop()[0] == tag:
                break

    def handle_data(self, data: str) -> None:
        for _tag, element_id, label_for in self._open:
            if element_id:
                self.text_by_id[element_id] += data
            if label_for:
                self.labels[label_for] = self.labels.get(label_for, "") + data
        if self._open and self._open[-1][0] == "title":
            self.title += data
        if self._open and self._open[-1][0] == "script":
            self.scripts.append(data)

    def text(self, element_id: str) -> str:
        """The element's text with whitespace collapsed."""
        return " ".join(self.text_by_id[element_id].split())


def parse(html: str) -> Page:
    """Read a page."""
    page = Page()
    page.feed(html)
    return page
