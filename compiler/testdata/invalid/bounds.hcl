number "main" {
  e164 = "+14155550100"
  type = "local"
}

user "alice" {
}

group "sales" {
  members = [user.alice]
}

flow "support" {
  numbers = [number.main]
  start   = ivr.menu
  ivr "menu" {
    say     = "Press 1."
    timeout = 0 # ERROR: IVR timeout out of range
    key "1" { next = transfer_user.a }
    on_timeout = transfer_group.g
  }
  transfer_user "a" {
    user         = user.alice
    ring_timeout = 0 # ERROR: Ring timeout out of range
    queue {
      max_waiting = 0 # ERROR: Queue size out of range
      repeat      = 50 # ERROR: Hold music repeat out of range # WARNING: Repeat without music
    }
  }
  transfer_group "g" {
    group        = group.sales
    ring_timeout = 3600 # ERROR: Ring timeout out of range
  }
}
