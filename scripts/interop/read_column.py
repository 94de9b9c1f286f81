"""Prints {"version", "values"} for one column of a Delta table read with delta-rs (Python deltalake).

Usage: python read_column.py TABLE_URI COLUMN
S3 settings come from AWS_ENDPOINT_URL, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_REGION, AWS_ALLOW_HTTP.
Values are sorted, so the caller can compare them as a multiset.
"""

import json
import os
import sys

from deltalake import DeltaTable

KEYS = ("AWS_ENDPOINT_URL", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_REGION", "AWS_ALLOW_HTTP")


def main():
    uri, column = sys.argv[1], sys.argv[2]
    opts = {k: os.environ[k] for k in KEYS if os.environ.get(k)} or None
    t = DeltaTable(uri, storage_options=opts)
    values = t.to_pyarrow_table(columns=[column]).column(column).to_pylist()
    print(json.dumps({"version": t.version(), "values": sorted(values)}), flush=True)


if __name__ == "__main__":
    main()
    # delta-rs' runtime threads can abort the interpreter's teardown ("terminate called without an
    # active exception", SIGABRT) after S3 reads; the answer is out, so skip the teardown.
    os._exit(0)
