# The smallest useful repository: one number answered by one announcement.
number "main" {
  e164 = "+442071838750"
  type = "local"
}

flow "hello" {
  numbers = [number.main]
  start   = announce.hello
  announce "hello" {
    say = "Hello, and goodbye."
  }
}
