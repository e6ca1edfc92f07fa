"""``python -m agreid_cli`` runs the ``agreid`` command."""

from agreid_cli.app import main

main()
