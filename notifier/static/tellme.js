// GOV.UK Frontend's components (error summary focus, skip link, character count …). Pages work without it.
import { initAll } from './vendor/govuk-frontend/dist/govuk/govuk-frontend.min.js'

initAll()
