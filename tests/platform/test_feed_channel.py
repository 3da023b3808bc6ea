from app.platform.feed import channel_for


def test_installations_on_different_redis_databases_use_different_feed_channels():
    assert channel_for("redis://127.0.0.1:6379/0") != channel_for("redis://127.0.0.1:6379/3")
    assert channel_for("redis://127.0.0.1:6379") == channel_for("redis://127.0.0.1:6379/0")
