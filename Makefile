# Shortcuts for ./run, which needs only sh and Python 3.10+ (make is optional).
#   make book              execute every chapter into build/ (notebooks + HTML)
#   make test              every test and the strict notebook validation
#   make notebooks CH=03   regenerate and re-execute notebooks/ (all without CH)
#   make setup | clean

CH ?=

.PHONY: book test notebooks setup clean

book:
	sh ./run book $(CH)

test:
	sh ./run test

notebooks:
	sh ./run notebooks $(CH)

setup:
	sh ./run setup

clean:
	sh ./run clean
