#!/usr/bin/env python3
# api_functions.py HEADER: prints the names of the functions HEADER declares, one a line,
# sorted, for the tests that hold the header to the library (test/abi.bats) and to its
# manual page (test/man.bats). It reads C declarations, not a naming pattern, so a
# function declared without VSOCK_API, or with another prefix, is listed too.
#
# Comments and preprocessor lines are dropped, the rest is split into declarations at
# ';', '{' and '}'; a declaration that is not a typedef and has a '(' declares a function,
# named by the identifier before its first '(' (after __attribute__((...)) is removed).
import re
import sys


def functions(text):
    text = re.sub(r'/\*.*?\*/', ' ', text, flags=re.S)
    text = re.sub(r'//[^\n]*', ' ', text)
    text = re.sub(r'^[ \t]*#(?:[^\n]*\\\n)*[^\n]*', ' ', text, flags=re.M)
    text = re.sub(r'__attribute__\s*\(\((?:[^()]|\([^()]*\))*\)\)', ' ', text)
    names = set()
    for decl in re.split(r'[;{}]', text):
        decl = ' '.join(decl.split())
        if '(' not in decl or re.match(r'typedef\b', decl):
            continue
        m = re.search(r'(\w+)\s*\($', decl[:decl.index('(') + 1])
        if m is None:
            sys.exit('api_functions.py: cannot name the declaration: ' + decl)
        names.add(m.group(1))
    return sorted(names)


if __name__ == '__main__':
    if len(sys.argv) != 2:
        sys.exit('usage: api_functions.py HEADER')
    with open(sys.argv[1]) as f:
        print('\n'.join(functions(f.read())))
