"""``python -m engram`` runs the command line."""

from engram.cli import main

if __name__ == "__main__":
    main()
