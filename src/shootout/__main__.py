from .cli.main import main

# guarded: a process started by multiprocessing's spawn imports this module again (as
# `__mp_main__`) where the parent ran `python -m shootout` (`analysis.parallel`)
if __name__ == "__main__":
    main()
