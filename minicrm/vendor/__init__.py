"""The bundled vendor simulator (the `vendor` process)."""
