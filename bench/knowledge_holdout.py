"""Knowledge matching on phrasings the index did not contain: leave one phrasing out at a time.

For every phrasing of every entry, the entry is indexed without it (all versions of the id), the
phrasing is asked, and the band is read: right entry answered directly (top-1 direct), or right
entry answered directly or offered among the numbered choices (right among choices). No blind
set is used; the phrasings are the content's own.

Three views, "before" being main's content (`git show main:content/knowledge/...`) and "after"
this checkout's:
- main's phrasings held out: does the added material help find what main already had?
- the added phrasings held out: asked against main's index (what citizens got) and against the
  new index without that phrasing; a third column keeps main's keywords only, because the added
  keywords were written knowing the added phrasings and would flatter the figure.
- every phrasing held out in its own content, before and after.

    .venv/bin/python -m bench.knowledge_holdout
"""

from __future__ import annotations

import argparse
import dataclasses
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.results import write_section
from bot.services.knowledge import Entry, Knowledge, load_knowledge

ROOT = Path(__file__).resolve().parent.parent
COMMAND = ".venv/bin/python -m bench.knowledge_holdout"


def main_content(base: str) -> Path:
    """main's knowledge files in a temporary content folder."""
    names = subprocess.run(["git", "ls-tree", "--name-only", f"{base}:content/knowledge"], cwd=ROOT,
                           check=True, capture_output=True, text=True).stdout.split()
    folder = Path(tempfile.mkdtemp(prefix="smb-knowledge-main-")) / "content"
    (folder / "knowledge").mkdir(parents=True)
    for name in names:
        text = subprocess.run(["git", "show", f"{base}:content/knowledge/{name}"], cwd=ROOT, check=True,
                              capture_output=True, text=True).stdout
        (folder / "knowledge" / name).write_text(text, encoding="utf-8")
    return folder


def without(knowledge: Knowledge, entry_id: str, phrasing: str,
            keywords: Callable[[Entry], tuple] | None = None) -> Knowledge:
    """The same knowledge with one phrasing of one entry (every version) left out."""
    entries = []
    for entry in knowledge.entries:
        if entry.id == entry_id:
            kept = tuple(p for p in entry.phrasings if p != phrasing)
            entry = dataclasses.replace(entry, phrasings=kept or (entry.question,))
        if keywords is not None:
            entry = dataclasses.replace(entry, keywords=keywords(entry))
        entries.append(entry)
    return Knowledge(entries, list(knowledge.topics))


def outcome(knowledge: Knowledge, text: str, entry_id: str) -> tuple[bool, bool]:
    """(answered directly with the right entry, right entry directly or among the choices)."""
    result = knowledge.understand(text)
    ids = [m.entry.id for m in result.matches]
    direct = result.band == "direct" and ids[0] == entry_id
    return direct, direct or result.band == "choose" and entry_id in ids


@dataclasses.dataclass
class Tally:
    direct: int = 0
    offered: int = 0
    total: int = 0

    def add(self, result: tuple[bool, bool]) -> None:
        self.direct += result[0]
        self.offered += result[1]
        self.total += 1

    def cells(self) -> str:
        n = max(self.total, 1)
        return f"{self.direct / n:.1%} | {self.offered / n:.1%}"


def phrasings_by_id(knowledge: Knowledge) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for entry in knowledge.entries:
        mine = found.setdefault(entry.id, [])
        mine.extend(p for p in entry.phrasings if p not in mine)
    return found


def held_out(knowledge: Knowledge, pairs: Iterable[tuple[str, str]], keep_out: bool = True,
             keywords: Callable[[Entry], tuple] | None = None, misses: list[str] | None = None) -> Tally:
    tally = Tally()
    for entry_id, text in pairs:
        index = without(knowledge, entry_id, text, keywords) if keep_out else knowledge
        result = outcome(index, text, entry_id)
        tally.add(result)
        if misses is not None and not result[1]:
            best = index.understand(text).best
            misses.append(f"`{text}` ({entry_id}; got {best.entry.id if best else 'nothing'})")
    return tally


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--base", default="main", help="the git revision whose content is 'before' "
                        "(once the additions are on main: the commit before them)")
    parser.add_argument("--no-write", action="store_true", help="print only; leave bench/RESULTS.md alone")
    parser.add_argument("--misses", action="store_true", help="list the added phrasings still missed")
    args = parser.parse_args()
    before = load_knowledge(main_content(args.base))
    after = load_knowledge(ROOT / "content")
    old, new = phrasings_by_id(before), phrasings_by_id(after)
    old_pairs = [(i, p) for i, ps in old.items() for p in ps]
    added_pairs = [(i, p) for i, ps in new.items() for p in ps if p not in old.get(i, ())]
    new_pairs = [(i, p) for i, ps in new.items() for p in ps]
    main_keywords = {e.id: e.keywords for e in before.entries}

    def old_keywords(entry: Entry) -> tuple:
        return main_keywords.get(entry.id, entry.keywords)

    misses: list[str] = []
    main_alone = held_out(before, old_pairs)
    rows = [
        ("main's phrasings, main's index without each", len(old_pairs), main_alone),
        ("main's phrasings, new index without each", len(old_pairs), held_out(after, old_pairs)),
        ("added phrasings, main's index (they are not in it)", len(added_pairs),
         held_out(before, added_pairs, keep_out=False)),
        ("added phrasings, new index without each", len(added_pairs),
         held_out(after, added_pairs, misses=misses)),
        ("added phrasings, new index without each, main's keywords", len(added_pairs),
         held_out(after, added_pairs, keywords=old_keywords)),
        ("every phrasing in its own content: before (main, as the first row)", len(old_pairs), main_alone),
        ("every phrasing in its own content: after", len(new_pairs), held_out(after, new_pairs)),
    ]
    counts = sorted(len(ps) for ps in new.values())
    command = COMMAND if args.base == "main" else f"{COMMAND} --base {args.base}"
    lines = [f"Command: `{command}` (before: `{args.base}`'s content/knowledge; after: this checkout's)", "",
             f"Entries: {len(new)}; phrasings {len(old_pairs)} before, {len(new_pairs)} after "
             f"(per entry now {counts[0]}–{counts[-1]}). Each phrasing is asked of an index that does not "
             "contain it (leave one out, every version of the entry); the entry's question and keywords "
             "stay. No blind set is used.", "",
             "| held out | phrasings | right, answered directly | right directly or among the choices |",
             "|---|---:|---:|---:|"]
    lines += [f"| {name} | {n} | {tally.cells()} |" for name, n, tally in rows]
    lines += ["", "The added keywords were written knowing the added phrasings, so the row with main's keywords "
              "is the fairer view of what the phrasings alone bring."]
    body = "\n".join(lines)
    print(body)
    if args.misses:
        print("\nAdded phrasings still missed when held out:\n" + "\n".join(misses))
    if not args.no_write:
        write_section("Knowledge held-out phrasings", body)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
