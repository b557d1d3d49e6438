"""The tenancy core's ModelAdmins: `agency` for the agency site, `staff` for the staff site
(both sites are assembled in saas_platform.admin_sites)."""
