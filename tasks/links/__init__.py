"""Personal links: tokens, the emails that carry them, fresh links, the Chair's and desk's links."""
