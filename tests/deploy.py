"""What the deployment tests read from the repository: Procfile lines and the variables config.py reads."""

from __future__ import annotations

import ast
import itertools
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PROCFILES = ("Procfile", "Procfile.worker")


def read_procfile(path: Path) -> dict[str, str]:
    """``type: command`` lines (Heroku/Railway syntax); blank lines and ``#`` comments ignored."""
    processes: dict[str, str] = {}
    for number, line in enumerate(path.read_text().splitlines(), 1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        match = re.fullmatch(r"([A-Za-z0-9_-]+):\s*(.+)", line.strip())
        if not match:
            raise ValueError(f"{path.name}:{number}: not a 'type: command' line: {line!r}")
        name, command = match.groups()
        if name in processes:
            raise ValueError(f"{path.name}:{number}: process type {name!r} defined twice")
        processes[name] = command.strip()
    return processes


def process_types() -> dict[str, str]:
    """Every process type of both Procfiles; a type may appear in only one of them."""
    merged: dict[str, str] = {}
    for name in PROCFILES:
        for kind, command in read_procfile(ROOT / name).items():
            if kind in merged:
                raise ValueError(f"process type {kind!r} is defined in more than one Procfile")
            merged[kind] = command
    return merged


def normalise_command(command: str) -> str:
    """Compare commands as a shell would run them: ``$PORT`` == ``${PORT}``, whitespace collapsed."""
    command = re.sub(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}", r"$\1", command)
    return " ".join(command.split())


def settings_variables() -> set[str]:
    """Every environment variable ``Settings.from_env`` reads, found in its source (no list to maintain).

    Matches ``env.get("X", ...)``, ``env["X"]`` and any helper called as ``helper(env, "X", ...)``
    (``_int``, ``_bool_or_auto``, and whatever is added next).
    """
    tree = ast.parse((ROOT / "socrate" / "config.py").read_text())
    from_env = next(
        node for node in ast.walk(tree) if isinstance(node, ast.FunctionDef) and node.name == "from_env"
    )
    names: set[str] = set()
    for node in ast.walk(from_env):
        if isinstance(node, ast.Call):
            func, args = node.func, node.args
            if _is_env(func.value if isinstance(func, ast.Attribute) else None) and args:
                names.add(_literal(args[0]))
            for first, second in itertools.pairwise(args):
                if _is_env(first):
                    names.add(_literal(second))
        elif isinstance(node, ast.Subscript) and _is_env(node.value):
            names.add(_literal(node.slice))
    names.discard("")
    return names


def _is_env(node: ast.AST | None) -> bool:
    return isinstance(node, ast.Name) and node.id == "env"


def _literal(node: ast.AST) -> str:
    return node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) else ""
