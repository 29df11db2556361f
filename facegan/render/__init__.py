"""The renderer: the built-in synthetic face set (identities, attributes, yaw, thermal twins) and its true variants."""
