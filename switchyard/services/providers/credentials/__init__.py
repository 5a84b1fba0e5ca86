"""Provider keys the service watches: where they are read (`sources`), how they are kept fresh (`ring`),
and what a key's shape says about its scope (`scope`). References are parsed in `switchyard.config.secrets`."""
