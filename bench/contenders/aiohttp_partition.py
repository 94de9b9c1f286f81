"""Contender c: the approach of the Python/Spark framework restlake replaces.

Each partition runs an asyncio producer/consumer queue with aiohttp, one process per
core, and collects its results as rows (here written as JSON lines per partition).
With `extract` it also does what restlake's extract scenario asks of restlake: parse the
JSON body and keep `score` (a float) and `data.items[0].name` (a string) as columns.
usage: python aiohttp_partition.py <origin> <pathPrefix> <rows> <processes> <connections> <concurrency> <outDir> [extract]
"""
import asyncio
import json
import multiprocessing as mp
import os
import sys
import time

import aiohttp


def extract_columns(row, body):
    """The two typed columns of the extract scenario; a body that is not JSON fails the row."""
    try:
        doc = json.loads(body)
    except ValueError:
        row["error"] = "response body is not JSON"
        return
    score = doc.get("score") if isinstance(doc, dict) else None
    row["score"] = float(score) if isinstance(score, (int, float)) else None
    try:
        name = doc["data"]["items"][0]["name"]
    except (KeyError, IndexError, TypeError):
        name = None
    row["first_name"] = name if isinstance(name, str) else None


async def run_partition(origin, prefix, ids, connections, concurrency, extract):
    results = []
    queue = asyncio.Queue(maxsize=concurrency * 2)
    connector = aiohttp.TCPConnector(limit=connections)
    async with aiohttp.ClientSession(connector=connector) as session:

        async def producer():
            for i in ids:
                await queue.put(i)
            for _ in range(concurrency):
                await queue.put(None)

        async def consumer():
            while True:
                i = await queue.get()
                if i is None:
                    return
                started = time.time()
                try:
                    async with session.get(f"{origin}{prefix}{i}", params={"region": "eu"}) as resp:
                        body = await resp.text()
                        row = {"id": i, "status": resp.status, "body": body, "started": started, "finished": time.time()}
                        if extract:
                            extract_columns(row, body)
                        results.append(row)
                except Exception as e:  # the framework records the error on the row
                    results.append({"id": i, "error": str(e), "started": started})

        await asyncio.gather(producer(), *(consumer() for _ in range(concurrency)))
    return results


def partition_main(args):
    origin, prefix, rows, procs, connections, concurrency, out_dir, extract, part = args
    ids = range(part, rows, procs)
    results = asyncio.run(run_partition(origin, prefix, ids, connections, concurrency, extract))
    with open(os.path.join(out_dir, f"part-{part}.jsonl"), "w") as f:
        for r in results:
            f.write(json.dumps(r) + "\n")
    return sum(1 for r in results if r.get("status") == 200 and "error" not in r)


def main():
    origin, prefix, rows, procs, connections, concurrency, out_dir = sys.argv[1:8]
    rows, procs, connections, concurrency = int(rows), int(procs), int(connections), int(concurrency)
    extract = sys.argv[8:9] == ["extract"]
    with mp.Pool(procs) as pool:
        ok = sum(pool.map(partition_main, [(origin, prefix, rows, procs, connections, concurrency, out_dir, extract, k) for k in range(procs)]))
    sys.exit(0 if ok == rows else 1)


if __name__ == "__main__":
    main()
