"""Tests for the FastAPI application."""

from fastapi.testclient import TestClient

from app.main import app


def test_health_reports_ok():
    """The health check answers 200 with status ok."""
    response = TestClient(app).get("/health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_unknown_route_is_404():
    """Routes that do not exist answer 404."""
    assert TestClient(app).get("/missing").status_code == 404
