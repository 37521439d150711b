"""The ceiling: a bare FastAPI app answering constant JSON, served the same way as Parcours."""

from fastapi import FastAPI

app = FastAPI()

_BODY = {"variant_id": "var_ceiling", "stores": []}


@app.get("/v1/availability")
def availability() -> dict[str, object]:
    return _BODY
