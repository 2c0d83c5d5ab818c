flow "f" {
  announce "a" {
    say = welcome_text # ERROR: Variables not allowed
  }
}
