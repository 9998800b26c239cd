# Blue and green Magento droplets told apart by tag, and ONE load balancer pointed at ONE colour.
# Greenlight switches the LB between the tags; Terraform only creates the pieces. `lifecycle.ignore_changes`
# keeps a later `terraform apply` from switching traffic back behind Greenlight's back.
terraform {
  required_providers {
    digitalocean = { source = "digitalocean/digitalocean", version = "~> 2.40" }
  }
}

variable "region" { default = "nyc3" }
variable "image" { default = "ubuntu-24-04-x64" }
variable "ssh_key_ids" { type = list(string) }
variable "live_colour" {
  default = "blue"
  validation {
    condition     = contains(["blue", "green"], var.live_colour)
    error_message = "live_colour must be blue or green."
  }
}

locals {
  colours = ["blue", "green"]
  # blue-1, blue-2, green-1, green-2: two droplets a colour, each tagged with its colour.
  nodes = { for pair in setproduct(local.colours, [1, 2]) : "${pair[0]}-${pair[1]}" => pair[0] }
}

resource "digitalocean_tag" "colour" {
  for_each = toset(local.colours)
  name     = "magento-${each.key}"
}

resource "digitalocean_droplet" "node" {
  for_each = local.nodes
  name     = each.key
  region   = var.region
  size     = "s-2vcpu-4gb"
  image    = var.image
  ssh_keys = var.ssh_key_ids
  tags     = [digitalocean_tag.colour[each.value].id]
}

resource "digitalocean_loadbalancer" "magento" {
  name   = "magento-lb"
  region = var.region

  forwarding_rule {
    entry_protocol  = "http"
    entry_port      = 80
    target_protocol = "http"
    target_port     = 80
  }

  # /healthz is served without auth by every node (not an admin route): DB + Redis, 200 or 503.
  healthcheck {
    protocol                 = "http"
    port                     = 80
    path                     = "/healthz"
    check_interval_seconds   = 10
    response_timeout_seconds = 5
    healthy_threshold        = 5
    unhealthy_threshold      = 3
  }

  # One colour only. Never both colours' droplets behind the LB: both releases would answer customers.
  droplet_tag = digitalocean_tag.colour[var.live_colour].name

  lifecycle {
    ignore_changes = [droplet_tag, droplet_ids]
  }
}

output "lb_id" { value = digitalocean_loadbalancer.magento.id }
output "lb_ip" { value = digitalocean_loadbalancer.magento.ip }
