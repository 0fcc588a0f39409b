@acceptance @deployment_options
Feature: Required deployments and pre-cached content
  A Required deployment runs at its deadline without the user; an Available one with
  "Pre-download content for this task sequence" puts its content into the client cache at the
  available time, and whatever is missing then is left to the deployment option.

  Background:
    Given the site runs Configuration Manager version 1910
    And the CMG serves content from Azure storage
    And the in-place upgrade task sequence PS100100 references these packages:
      | package  | name                     | type               | size   |
      | PS100101 | Windows 11 upgrade media | OS upgrade package | 3.2 GB |
      | PS100102 | Post-upgrade scripts     | Package            | 20 MB  |
    And the task sequence has these steps:
      | step                     | action                   | package  | duration   |
      | Upgrade Operating System | Upgrade Operating System | PS100101 | 40 minutes |
      | Run post-upgrade scripts | Run Command Line         | PS100102 | 1 minute   |
    And an internet client CLIENT15

  @behaviour:B-42
  Scenario: A Required deployment runs at its deadline without the user
    Given the packages are distributed to the CMG
    And the task sequence is deployed as Required with "Download content locally when needed by the running task sequence"
    When the deployment's deadline is reached
    Then the task sequence succeeds
    And the task sequence variable _SMSTSUserStarted is "false"
    And the task sequence variable _SMSTSLaunchMode is "SMS"

  @behaviour:B-42
  Scenario: An Available deployment has no deadline
    Given the packages are distributed to the CMG
    And the task sequence is deployed as Available with "Download content locally when needed by the running task sequence"
    When the deployment's deadline is reached
    Then the client refuses to start the task sequence because "it has no deadline"

  @behaviour:B-43
  Scenario: Pre-cached content is used without downloading it again
    Given the packages are distributed to the CMG
    And the task sequence is deployed as Available with "Download content locally when needed by the running task sequence" and pre-download
    When the client pre-caches the deployment's content
    And the user installs the deployment from Software Center
    Then the pre-cache is complete
    And the task sequence succeeds
    And the task sequence downloads nothing

  @behaviour:B-43
  Scenario Outline: What pre-cache missed comes with "<option>"
    Given the package PS100101 is distributed to the CMG
    And the task sequence is deployed as Available with "<option>" and pre-download
    When the client pre-caches the deployment's content
    And the administrator distributes PS100102 to the CMG
    And the user installs the deployment from Software Center
    Then the pre-cache is incomplete, without PS100102
    And the task sequence succeeds
    And the task sequence downloads only PS100102

    Examples:
      | option                                                            |
      | Download content locally when needed by the running task sequence |
      | Download all content locally before starting task sequence        |
