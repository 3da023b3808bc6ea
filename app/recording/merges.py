"""The ingest side of merged errors (app/triage/merge.py): a merged error keeps its row, pointed at the error
it was merged into, so its fingerprint still finds it; the error upsert of the writer's batch returns the
pointer with every row, and only a batch that has events of a merged error does more (``follow``)."""
from __future__ import annotations

import datetime as dt
from collections import defaultdict

from app.recording import releases
from app.recording.prepare import PreparedEvent, error_values


def follow(conn, statements, batch: list[PreparedEvent], groups: dict, errors: dict,
           marker: dt.datetime) -> list[tuple[int, str]]:
    """The events of merged errors go to the errors they were merged into: those errors are upserted with
    them (their counts, a regression, a rise in severity, as if the events had their fingerprint), and
    the groups and rows of the batch are rekeyed in place. The merged errors' own rows were counted by the
    first upsert too: their counts stay true for an unmerge. Returns the batch's keys, sorted."""
    merged = {key: errors[key].merged_into_id for key in groups if errors[key].merged_into_id is not None}
    targets = {row.id: (row.service_id, row.fingerprint)
               for row in conn.execute(statements.merge_targets, {"ids": sorted(set(merged.values()))})}
    moved: dict[tuple[int, str], list[int]] = defaultdict(list)
    for key, target_id in merged.items():
        target = targets.get(target_id)
        if target is not None:  # else the target went (deleted) after this batch's first upsert
            moved[target].extend(groups.pop(key))
            del errors[key]
    if moved:
        # The target's own events of this batch (counted already) come first, then the merged errors'.
        order = sorted(moved)
        rows, grouped = [], []
        for key in order:
            events = [batch[i] for i in sorted(moved[key])]
            values = error_values(events)
            values["fingerprint"] = key[1]
            rows.append(values)
            grouped.append(events)
        releases.number(conn, grouped, rows)  # their releases were numbered by the first upsert: a look-up
        errors.update(statements.upsert_errors(conn, rows, marker))
        for key in order:
            groups[key] = groups.get(key, []) + sorted(moved[key])
    return sorted(groups)
