"""Command-line interface placeholder (replaced below)."""
def main(argv=None):
    print("fem-sse", __import__("fem_sse").__version__)
    return 0
