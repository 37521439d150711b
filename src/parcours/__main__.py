from parcours.cli import app

app()
