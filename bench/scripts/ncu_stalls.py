#!/usr/bin/env python3
"""Where a kernel's warps stall, instruction by instruction, from Nsight Compute's source page.

    ncu --import REPORT.ncu-rep --page source --csv --print-source sass > SOURCE.csv
    python3 bench/scripts/ncu_stalls.py SOURCE.csv [--top N]

Prints the sampled stalls summed by SASS opcode (its first word, predicate stripped), then the top N instructions by
samples with their address, text and largest stall reasons. Nsight Compute's column names differ between versions,
so the columns are found by name: the samples column is the first whose name holds "Warp Stall Sampling (All",
the reasons are the other numeric columns whose name mentions a stall. A warp-specialised kernel keeps its producer
and consumer code at different addresses, so the top lines say which role stalls where (read them beside the SASS
that `cuobjdump -sass` prints or the page itself shows).
"""
import argparse
import csv
import re
import sys
from collections import defaultdict


def number(text):
    try:
        return float(text.replace(",", ""))
    except (ValueError, AttributeError):
        return None


def read_rows(path):
    with open(path, newline="") as f:
        rows = list(csv.reader(f))
    for i, row in enumerate(rows):
        if any("Warp Stall Sampling (All" in cell for cell in row) and any("Source" in c for c in row):
            return row, [r for r in rows[i + 1:] if len(r) == len(row)]
    sys.exit(f"{path}: no header with 'Warp Stall Sampling (All Samples)' and 'Source' columns; is it "
             "'ncu --page source --csv' output of a report taken with --set full (or the SourceCounters section)?")


def opcode(source):
    text = re.sub(r"^\s*@!?U?P\w+\s+", "", source.strip())
    return text.split(" ")[0] if text else "?"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("csv")
    parser.add_argument("--top", type=int, default=25)
    args = parser.parse_args()
    header, rows = read_rows(args.csv)
    samples = next(i for i, name in enumerate(header) if "Warp Stall Sampling (All" in name)
    source = next(i for i, name in enumerate(header) if "Source" in name)
    address = next((i for i, name in enumerate(header) if "Address" in name), None)
    reasons = [i for i, name in enumerate(header)
               if i != samples and "stall" in name.lower() and "Warp Stall Sampling" not in name]
    lines = []
    for row in rows:
        count = number(row[samples])
        if count:
            lines.append((count, row))
    total = sum(c for c, _ in lines)
    if total == 0:
        sys.exit(f"{args.csv}: no stall samples")
    by_opcode = defaultdict(float)
    for count, row in lines:
        by_opcode[opcode(row[source])] += count
    print(f"{int(total)} samples; by opcode:")
    for name, count in sorted(by_opcode.items(), key=lambda kv: -kv[1])[:15]:
        print(f"  {100 * count / total:5.1f} %  {name}")
    print(f"top {args.top} instructions:")
    for count, row in sorted(lines, key=lambda cr: -cr[0])[:args.top]:
        top = sorted(((number(row[i]) or 0, header[i]) for i in reasons), reverse=True)[:3]
        why = ", ".join(f"{name.strip()} {value:.0f}" for value, name in top if value > 0)
        where = row[address] if address is not None else ""
        print(f"  {100 * count / total:5.1f} %  {where:>8}  {row[source].strip()[:70]:70}  {why}")


if __name__ == "__main__":
    main()
