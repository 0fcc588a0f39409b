@acceptance @on_demand
Feature: Task sequence content on demand over a content-enabled CMG
  An internet client runs an in-place upgrade task sequence from Software Center; since version 1910
  the task sequence engine gets each package from the CMG just before the step that needs it.

  Background:
    Given the CMG serves content from Azure storage
    And the in-place upgrade task sequence PS100010 references these packages:
      | package  | name                     | type               | size   |
      | PS100011 | Windows 11 upgrade media | OS upgrade package | 3.2 GB |
      | PS100012 | Surface drivers          | Driver package     | 600 MB |
      | PS100013 | Post-upgrade scripts     | Package            | 20 MB  |
    And the task sequence has these steps:
      | step                     | action                   | package  | duration   |
      | Check Readiness          | Check Readiness          |          | 2 minutes  |
      | Upgrade Operating System | Upgrade Operating System | PS100011 | 40 minutes |
      | Apply drivers            | Run Command Line         | PS100012 | 5 minutes  |
      | Run post-upgrade scripts | Run Command Line         | PS100013 | 1 minute   |
    And the packages are distributed to the CMG
    And an internet client CLIENT01

  @smoke
  @behaviour:B-04 @behaviour:B-11 @behaviour:B-24
  Scenario: Each package arrives from the CMG just before the step that needs it
    Given the site runs Configuration Manager version 1910
    And the task sequence is deployed as Available with "Download content locally when needed by the running task sequence"
    When the user installs the deployment from Software Center
    Then the task sequence succeeds
    And the first step starts before any package is downloaded
    And each package is downloaded from the CMG just before the step that needs it
    And the client talked to the site only through the CMG

  @behaviour:B-04
  Scenario Outline: The task sequence engine downloads on demand from version 1910 on
    Given the site runs Configuration Manager version <version>
    And the task sequence is deployed as Available with "Download content locally when needed by the running task sequence"
    When the user installs the deployment from Software Center
    Then the task sequence <outcome>

    Examples:
      | version | outcome                                                             |
      | 1906    | fails at step "Upgrade Operating System" with 0x80040102            |
      | 1910    | succeeds                                                            |
      | 2107    | succeeds                                                            |
