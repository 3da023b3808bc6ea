from app.config import Config
from app.accounts import developers as accounts


def test_passwords_are_hashed_with_scrypt_outside_the_test_suite(app):
    assert Config.PASSWORD_HASH_METHOD == "scrypt"
    app.config["PASSWORD_HASH_METHOD"] = Config.PASSWORD_HASH_METHOD
    developer = accounts.create_developer("Sam", "sam@example.test", password="a long passphrase")
    assert developer.password_hash.startswith("scrypt:")
    assert "a long passphrase" not in developer.password_hash
    assert accounts.verify_password(developer, "a long passphrase")
    assert not accounts.verify_password(developer, "a long passphrasE")
