"""FastAPI application entry point."""

from fastapi import FastAPI

app = FastAPI(title="Service")


@app.get("/health")
def health():
    """Report that the service is up."""
    return {"status": "ok"}
