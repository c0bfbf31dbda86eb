from deskterm.cli import main

if __name__ == "__main__":  # a spawned parser process imports this module too
    main()
