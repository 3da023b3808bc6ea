from tests.browser.conftest import screenshot
from tests.factories import make_developer


def test_sign_in_reaches_the_error_list(page, live_server):
    make_developer("Ada Admin", email="ada@example.test", role="admin", password="s3cret-pass")
    page.goto(f"{live_server}/login")
    page.fill("input[name=email]", "ada@example.test")
    page.fill("input[name=password]", "s3cret-pass")
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_server}/")
    assert "Ada Admin" in page.inner_text("header")
    screenshot(page, "overview")


def test_wrong_password_is_refused(page, live_server):
    make_developer("Ada Admin", email="ada@example.test", role="admin", password="s3cret-pass")
    page.goto(f"{live_server}/login")
    page.fill("input[name=email]", "ada@example.test")
    page.fill("input[name=password]", "wrong")
    page.click("button[type=submit]")
    assert "Wrong e-mail or password" in page.inner_text("main")
