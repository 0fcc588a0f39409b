@acceptance @deployment_options
Feature: The Distribution Points options and what the console refuses
  "Access content directly from a distribution point" runs content from a DP's package share,
  without download or hash check, and never from a cloud source; the console offers each option
  only where it can work.

  Background:
    Given the site runs Configuration Manager version 1910
    And the CMG serves content from Azure storage
    And the in-place upgrade task sequence PS100080 references these packages:
      | package  | name                 | type    | size  | package share |
      | PS100081 | Post-upgrade scripts | Package | 20 MB | yes           |
    And the task sequence has these steps:
      | step                     | action           | package  | duration |
      | Run post-upgrade scripts | Run Command Line | PS100081 | 1 minute |
    And the packages are distributed to the CMG and the on-premises distribution point

  @behaviour:B-35
  Scenario: An intranet client runs the content from the DP's package share without downloading it
    Given the copy of PS100081 on the on-premises distribution point is damaged
    And the task sequence is deployed as Available with "Access content directly from a distribution point when needed by the running task sequence"
    And an intranet client CLIENT13
    When the user installs the deployment from Software Center
    Then the task sequence succeeds
    And PS100081 is used from the on-premises distribution point without being downloaded
    And the task sequence variable _SMSTSRunFromDP is "true"

  @behaviour:B-36
  Scenario: An internet client cannot access content directly from a cloud source
    Given the task sequence is deployed as Available with "Access content directly from a distribution point when needed by the running task sequence"
    And an internet client CLIENT14
    When the user installs the deployment from Software Center
    Then the task sequence fails at step "Run post-upgrade scripts" with 0x80040102
    And no content is downloaded

  @behaviour:B-52
  Scenario: "Download all content" is not offered when the deployment is available to media and PXE
    When the administrator deploys the task sequence as Available with "Download all content locally before starting task sequence" made available to "Configuration Manager clients, media and PXE"
    Then the site refuses the deployment because "is not offered when the deployment is made available to boot media and PXE"

  @behaviour:B-43
  Scenario: Pre-download is only for Available deployments
    When the administrator deploys the task sequence as Required with "Download content locally when needed by the running task sequence" with pre-download
    Then the site refuses the deployment because "only for Available deployments"

  @behaviour:B-52
  Scenario: Access content directly needs a package share on every package
    Given the in-place upgrade task sequence PS100090 references these packages:
      | package  | name                 | type    | size  |
      | PS100091 | Post-upgrade scripts | Package | 20 MB |
    And the task sequence has these steps:
      | step                     | action           | package  | duration |
      | Run post-upgrade scripts | Run Command Line | PS100091 | 1 minute |
    When the administrator deploys the task sequence as Available with "Access content directly from a distribution point when needed by the running task sequence"
    Then the site refuses the deployment because "PS100091 has none"

  @behaviour:B-52
  Scenario: The same deployment with a package share is accepted
    When the administrator deploys the task sequence as Available with "Access content directly from a distribution point when needed by the running task sequence"
    Then the site accepts the deployment

  @behaviour:B-52
  Scenario: An option the console does not have is refused with the ones it has
    When the administrator deploys the task sequence as Available with "Stream content from the internet"
    Then the site refuses the deployment because "unknown deployment option 'Stream content from the internet'"

  Scenario: A step that runs a package the site does not have is refused with the package named
    When the administrator adds the step "Run the missing tool" running package PS1FFFFF
    Then the site refuses the task sequence because "references undefined package(s) PS1FFFFF"
