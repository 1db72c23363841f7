"""Worker resident memory after the model loads and after 200 documents.

Reads VmRSS of the worker child that encoded the documents (its pid is recorded on each
document). Run: ``.venv/bin/python -m bench.memory``. Targets: <= 1 GB and growth < 10 %.
"""

from __future__ import annotations

from pathlib import Path

from bench.stack import running_stack
from tests import docgen

DOCUMENTS = 200


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for pid {pid}")


def main() -> None:
    # Children must not be recycled mid-measurement (the product default is 200 tasks).
    with running_stack({"WORKER_MAX_TASKS_PER_CHILD": "100000"}) as stack:
        first, _ = stack.upload(docgen.txt("en", count=10), "first.txt")
        stack.wait(first)
        pid = stack.details(first)["metadata"]["worker"]["pid"]
        after_load = rss_mb(pid)
        for i in range(DOCUMENTS):
            lang = "en" if i % 2 else "it"
            doc_id, _ = stack.upload(docgen.txt(lang, count=10 + i % 30), f"m{i}.txt")
            stack.wait(doc_id)
        last = stack.details(doc_id)["metadata"]["worker"]
        assert last["pid"] == pid, "worker child was replaced during the run"
        after = rss_mb(pid)
    growth = (after - after_load) / after_load * 100
    print(f"worker child pid {pid}: model loads {last['model_loads']}")
    print(f"RSS after model load + first document: {after_load:.0f} MB")
    print(f"RSS after {DOCUMENTS} more documents:        {after:.0f} MB")
    print(f"growth: {growth:+.1f} %  (targets: <= 1024 MB, growth < 10 %)")


if __name__ == "__main__":
    main()
