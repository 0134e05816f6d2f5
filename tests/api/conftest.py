import pytest


@pytest.fixture
def token_for():
    """token_for(user) -> headers with a fresh personal token for that user."""
    from portal.api.auth import create_token

    def _make(user, name="test"):
        _, raw = create_token(user, name)
        return {"Authorization": f"Bearer {raw}"}

    return _make
