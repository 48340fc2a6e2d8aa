"""Reading what mailroom's protocol log (CSV) and tracking log (JSON lines) hold, for tests."""
import csv
import io
import json
import pathlib

PROTOCOL_HEADER = ["date-time", "connector", "session-id", "sequence-number", "local-endpoint",
                   "remote-endpoint", "event", "data"]


def log_dir(srv):
    return pathlib.Path(srv.data_dir) / "log"


def protocol_files(directory):
    return sorted(pathlib.Path(directory).glob("protocol-*.csv"))


def protocol_rows(directory, strict=True):
    """Every row of every protocol log file, oldest first, as dicts; each file's header checked.
    strict=False skips rows cut short (a write that hit a full file system ends mid-line)."""
    rows = []
    for p in protocol_files(directory):
        reader = csv.reader(io.StringIO(p.read_text(errors="replace"), newline=""))
        header = next(reader, None)
        if header is None and not strict:
            continue
        assert header == PROTOCOL_HEADER, (p, header)
        for r in reader:
            if len(r) != len(PROTOCOL_HEADER) and not strict:
                continue
            assert len(r) == len(PROTOCOL_HEADER), (p, r)
            rows.append(dict(zip(PROTOCOL_HEADER, r)))
    return rows


def protocol_bytes(directory):
    return b"".join(p.read_bytes() for p in protocol_files(directory))


def tracking_files(directory):
    return sorted(pathlib.Path(directory).glob("tracking-*.jsonl"))


def tracking_events(directory):
    out = []
    for p in tracking_files(directory):
        for line in p.read_text().splitlines():
            out.append(json.loads(line))
    return out
