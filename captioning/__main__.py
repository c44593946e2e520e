from captioning.cli import main

main()
