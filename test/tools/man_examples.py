#!/usr/bin/env python3
"""man_examples.py: the C examples of mdoc pages as files, for man.bats to compile: every
literal display (.Bd -literal ... .Ed) that has an #include and a main() is one example.

  man_examples.py [--containing WORD] OUTDIR PAGE...

writes the examples of PAGE (only those containing WORD, if given) to
OUTDIR/<page>-<n>.c, the page's name with "_" for "." (vsock.4 -> vsock_4-0.c), with
the mdoc escapes \\e and \\& undone, and prints "PAGE N" (N examples written) per page.
"""
import argparse
import os
import re

DISPLAY = re.compile(r"^\.Bd -literal[^\n]*\n(.*?)^\.Ed$", re.S | re.M)


def examples(text, containing=None):
    """The C programs among the literal displays of an mdoc text, as C source."""
    for block in DISPLAY.findall(text):
        if "#include" in block and "main(" in block and (containing or "") in block:
            yield block.replace("\\e", "\\").replace("\\&", "")


def main():
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--containing")
    p.add_argument("outdir")
    p.add_argument("pages", nargs="+", metavar="PAGE")
    args = p.parse_args()
    for page in args.pages:
        name = os.path.basename(page).replace(".", "_")
        with open(page) as f:
            found = list(examples(f.read(), args.containing))
        for n, source in enumerate(found):
            with open(os.path.join(args.outdir, "%s-%d.c" % (name, n)), "w") as out:
                out.write(source)
        print("%s %d" % (page, len(found)))


if __name__ == "__main__":
    main()
