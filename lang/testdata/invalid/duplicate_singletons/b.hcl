organization { # ERROR: Duplicate organization block
  name = "Acme again"
}

recordings { # ERROR: Duplicate recordings block
  plan = "50k"
}

credits { # ERROR: Duplicate credits block
}
