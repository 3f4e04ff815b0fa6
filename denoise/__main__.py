from denoise.cli import main

main()
