"""``kglm download NAME DIR``: a thin layer over :mod:`kglm.datasets.download`."""

from __future__ import annotations

import argparse
import logging
import sys

__all__ = ["register"]


def _run(args: argparse.Namespace) -> int:
    from kglm.datasets.download import DATASETS, DownloadError, download_dataset

    if args.list:
        for source in DATASETS.values():
            print(f"{source.name:<16} {source.description} [{source.licence}]")
            for note in source.notes:
                print(f"{'':<16} note: {note}")
        return 0
    if args.name is None or args.directory is None:
        print("kglm download: error: NAME and DIR are required (or --list)", file=sys.stderr)
        return 2
    logging.basicConfig(level=logging.WARNING if args.quiet else logging.INFO,
                        format="kglm download: %(message)s")
    try:
        paths = download_dataset(
            args.name, args.directory, url_base=args.url_base, progress=not args.quiet, force=args.force,
            timeout=args.timeout, allow_redirects=args.allow_redirects,
        )
    except DownloadError as exc:
        print(f"kglm: error: {exc}", file=sys.stderr)
        return 1
    for path in paths:
        print(path)
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``download`` sub-command to ``subparsers``."""
    from kglm.datasets.download import DATASETS, URL_ENV

    parser = subparsers.add_parser(
        "download",
        help="download a public data set (with checksums and resume)",
        description=(
            "Download a data set into DIR. Interrupted downloads resume; files with a "
            "pinned sha256 are verified; files already there are kept."
        ),
    )
    parser.add_argument("name", nargs="?", choices=list(DATASETS), metavar="NAME",
                        help=f"one of: {', '.join(DATASETS)}")
    parser.add_argument("directory", nargs="?", metavar="DIR", help="where to put the files")
    parser.add_argument("--url-base", default=None, metavar="URL",
                        help=f"fetch file F from URL/NAME/F (a mirror); default: ${URL_ENV} if set")
    parser.add_argument("--force", action="store_true", help="download again files that exist")
    parser.add_argument("--quiet", action="store_true", help="no progress bars or info messages")
    parser.add_argument("--timeout", type=float, default=60.0, metavar="SECONDS",
                        help="network timeout per read (default: 60)")
    parser.add_argument("--allow-redirects", action="store_true",
                        help="follow redirects to another host or scheme (refused by default)")
    parser.add_argument("--list", action="store_true", help="list the known data sets and exit")
    parser.set_defaults(func=_run)
